"""Reports the township downloads: the month's 考单 as CSV and XLSX, built as bytes so the command
line (``bot.py report``) and the console serve the same files.

A layer beside ``services``: it reads through ``cases`` (the KPIs, the month's facts) and
``store``, masks personal data with ``nlp``, and knows no chat, WeCom, web or command line.
"""
