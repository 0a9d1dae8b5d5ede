"""The base every other folder may import: errors, torchrun, the runtime (device, precision,
memory format), the usable CPU cores and the config check. It imports nothing else of occreid,
and nothing heavy at import time."""
