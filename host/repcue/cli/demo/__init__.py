"""`repcue demo --group N`: the coach's group at the track (group.py) and its closing table
(table.py). `repcue demo` itself is cli/demo_cmd.py, as every command group is."""
