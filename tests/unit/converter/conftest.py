import sys
from pathlib import Path

# seed_models.py and golden_cases.py sit next to the tests; the integration tests import them too.
sys.path.insert(0, str(Path(__file__).parent))
