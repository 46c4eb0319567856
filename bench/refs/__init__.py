"""Reference apps: each does one measured operation the leanest reasonable way.

They are the yardsticks the hub's endpoints are divided by, so they must stay minimal:
no middleware, no settings, no logging beyond what uvicorn does with its access log off.
"""
