"""Report building (tables, the report model) and the renderers (HTML, Excel, JSON, JUnit)."""
