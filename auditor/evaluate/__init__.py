"""The evaluation layer beside the checks: three-valued logic, the permission grant policy evaluator,
approvers and consent paths (DESIGN §4–§5). Everything here is a pure function of a snapshot's facts."""
