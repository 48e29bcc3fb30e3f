"""Script import: Fountain and Final Draft files turned into boards of panels.

Pure functions from bytes to plain data (decode, fountain, fdx, breakdown,
matching, reimport); only `services` touches the database.
"""
