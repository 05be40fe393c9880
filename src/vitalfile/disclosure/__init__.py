"""Everything that leaves the file: the policy gate, agreements, extracts, deliveries, corrections,
verification, matching, monitoring, accounting, requests for personal data."""
