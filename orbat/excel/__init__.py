"""Every workbook orbat reads or writes. openpyxl is imported only in this package.

- ``reader``: bounded, defused reading of .xlsx input
- ``template``: the Excel entry template
- ``report``: the formatted report workbook
"""
