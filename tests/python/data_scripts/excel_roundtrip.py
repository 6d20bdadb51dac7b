"""Write a workbook with two sheets through openpyxl, read it back with
pandas and with openpyxl itself, and compare."""
import sys
import tempfile

import openpyxl
import pandas as pd

DATA = sys.argv[1]
df = pd.read_csv(f"{DATA}/sales.csv", parse_dates=["date"])
summary = df.groupby("region")[["units"]].sum()
with tempfile.TemporaryDirectory() as tmp:
    path = f"{tmp}/report.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        df.head(50).to_excel(xw, sheet_name="orders", index=False)
        summary.to_excel(xw, sheet_name="summary")
    back = pd.read_excel(path, sheet_name=None)
    print(sorted(back))
    orders = back["orders"]
    print(orders.dtypes)
    print(orders.equals(df.head(50)), (orders["units"] == df["units"].head(50)).all())
    print(back["summary"])
    wb = openpyxl.load_workbook(path)
    ws = wb["orders"]
    print(ws.dimensions, ws.max_row, ws.max_column)
    print([c.value for c in ws[1]])
    print([c.value for c in ws[2]])
    ws["J1"] = "note"
    ws["J2"] = "=SUM(F2:F51)"
    wb.save(path)
    print(openpyxl.load_workbook(path)["orders"]["J2"].value)
