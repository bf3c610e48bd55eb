"""Scene-mode guided services (standard 9.4.4): data in data/, schema in scene.py, logic in runner.py."""
