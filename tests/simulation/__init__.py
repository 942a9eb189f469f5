"""A deterministic simulation of a Fusion that lags, drops and disagrees, and of fusion-run dying
and resuming on it: random plans x random Fusion behaviours x random crash points, from a seed.

- `world`: what Fusion holds (`Truth`: every run, who started it, how it really ended) and what it
  shows (`SimulatedFusion`, a `runner.fusion.transport.Transport`: each channel lags, goes stale or
  disagrees on its own, within the bounds its docstring names with their sources);
- `plans`: a random plan and a random Fusion, from one seed (`Case`);
- `simulate`: fusion-run on that Fusion, through the real client, engine and journal, crashed at
  random durable points and resumed, then every output rendered;
- `invariants`: what must hold after every run, whatever Fusion did.

`tests/process/test_simulation.py` runs a fixed seed range in CI; `python bench/simulate.py --seeds
N` runs as many as asked. A failing seed prints the line that reproduces it.
"""
