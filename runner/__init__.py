"""fusion-run: run Lucidworks Fusion jobs from a declarative plan."""

__version__ = "0.1.0"
