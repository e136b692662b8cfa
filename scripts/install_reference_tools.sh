#!/usr/bin/env bash
# Install the Python reference tools the golden-file and reference-benchmark scripts use.
# The tests do not need them: their outputs are committed under tests/it/golden/.
set -euo pipefail
python3 -m pip install --quiet "ta-lib==0.8.2" "backtesting==0.6.6" "vectorbt==1.2.0" numpy pandas scipy
python3 -c "import talib, backtesting, vectorbt; print('talib', talib.__version__, '| backtesting', backtesting.__version__, '| vectorbt', vectorbt.__version__)"
