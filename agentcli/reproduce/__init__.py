"""`agentcli reproduce`: from a paper to a table of paper-vs-reproduced numbers.

A reproduction lives in one working folder (the workdir) and moves through three phases, each
run as an agent session whose artefacts are checked before the next phase starts:

    PAPER.md        the paper as text, with page markers          (written by agentcli)
    claims.json     phase 1: the target numbers, validated against claims.schema.json
    PLAN.md         phase 2: claims → code and runs; every detail the paper leaves open
    results.json    phase 3: claim id → measured value, run id, seed, command
    DEVIATIONS.md   phase 3: every departure from the paper
    runs/agentcli/  agentcli's own re-run of each command of results.json (its output)
    environment.json  that re-run: exit codes, wall times, logs, Python, packages, OS, CPU/GPU
    REPORT.md       `agentcli reproduce report`: graded verdicts, deterministic
    .reproduce/     agentcli's own state (run id, phases, the claims as phase 1 left them)

Modules: `paper` (PDF/Markdown → PAPER.md), `schemacheck` (the validator), `numbers` (numbers as
printed), `checks` (claims and results against their schemas and the paper), `verify` and
`environment` (the re-run and its record), `verdicts` (graded, with phase 1's tolerances),
`report`, `markdown` and `figure` (REPORT.md and its PNG), `phases` and `state` (what each phase
must leave behind), `driver` (the sessions, resume), `overnight` (phase 3 as an unattended run),
`budget` (budgets over all phases), `tools` (check_claims / check_results for the agent).
"""

from __future__ import annotations

PAPER_MD = "PAPER.md"
CLAIMS = "claims.json"
PLAN = "PLAN.md"
RESULTS = "results.json"
DEVIATIONS = "DEVIATIONS.md"
REPORT = "REPORT.md"
FIGURE = "paper_vs_reproduced.png"
STATE_DIR = ".reproduce"
