"""The checks: one small pure function per rule, registered under the rule's id.

Importing this package imports every check module, which fills `CHECKS` in rule-pack order.
"""

from auditor.evaluate.checks import (  # noqa: F401  (imported for their registrations)
    consent_requests,
    grants,
    legacy,
    service_principal,
    user_consent,
    workflow,
)
from auditor.evaluate.checks.registry import CHECKS

__all__ = ["CHECKS"]
