"""OpsLoop (运营闭环平台): collect what users do, trust the numbers, act, and close the loop."""

__version__ = "0.1.0"
