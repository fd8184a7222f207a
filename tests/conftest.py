import os
from pathlib import Path

import pytest
import torch

# Two cores: more threads than that only fight each other (and any training run).
torch.set_num_threads(int(os.environ.get("UGLLI_TEST_THREADS", "1")))

DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


@pytest.fixture(scope="session")
def datasets() -> Path:
    if not (DATASETS / "300w" / "MANIFEST.csv").exists():
        pytest.skip(f"shared datasets not found at {DATASETS}")
    return DATASETS
