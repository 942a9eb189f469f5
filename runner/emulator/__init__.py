"""A Fusion emulator, scripted by a scenario: `model` (the jobs as a state machine on an injected
clock), `adapter` (the model behind the `Fusion` protocol, in process), `server` (the model over
HTTP) and `command` (`fusion-emulator`)."""
