"""The `uglli` command: predict, evaluate, train, fine-tune and calibrate from a shell."""
from .main import main

__all__ = ["main"]
