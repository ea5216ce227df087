"""What every area shares and that needs no I/O. Imports nothing of ours."""
