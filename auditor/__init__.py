"""auditor: can HD Meeting's Microsoft 365 calendar integration work in this Entra ID tenant?

Pipeline: collect (Microsoft Graph) → snapshot (JSON) → evaluate (rule pack) → report.
"""

__version__ = "0.1.0"
