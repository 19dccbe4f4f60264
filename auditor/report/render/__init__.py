"""Renderers: the HTML report, the Excel workbook and the JUnit XML, each from a ReportContext."""
