"""Query kinds: each module holds a pydantic request model and a `run` that compiles, executes
and shapes the answer. `registry.py` declares them in one place."""
