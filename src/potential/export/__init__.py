"""Exports: the target list in CSV / XLSX / Parquet and its manifest; the one place that knows the column order."""
