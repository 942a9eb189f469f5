"""A plan whose variables CI sets, as tests/unit/test_ci.py and tests/process/test_ci.py check it
(the `ci_plan` fixture writes it)."""

from __future__ import annotations

CI_PLAN = """\
version: 1
fusion:
  url: ${FUSION_URL}
  auth: ${FUSION_AUTH:-basic}
  verify: ${FUSION_CA}
max_parallel: ${MAX_PARALLEL:-4}
steps:
  - job: crawl-${SITE}
    retries: ${RETRIES:-2}
    timeout: ${CRAWL_TIMEOUT}
    run_if: ${RUN_IF:-all_success}
  - index
variables:
  FUSION_URL: null
  FUSION_AUTH: null
  FUSION_CA: null
  MAX_PARALLEL: null
  SITE: null
  RETRIES: null
  CRAWL_TIMEOUT: {description: how long a crawl may take}
  RUN_IF: null
"""
CI_VARIABLES = ["FUSION_URL", "FUSION_AUTH", "FUSION_CA", "MAX_PARALLEL", "SITE", "RETRIES"]
CI_VARIABLES += ["CRAWL_TIMEOUT", "RUN_IF"]
NOTE = "is not set here: its value is checked when the plan runs"
