"""The champion's booster called through LightGBM's C API, for the per-request path.

`Booster.predict` costs a few hundred microseconds per call before any tree is read (a new
predictor object, parameter parsing, checks, `ndarray.ctypes.data_as` conversions): more than
the trees themselves for one offer. Here the matrix is float64 C-contiguous as built by the
scoring core and goes straight to `LGBM_BoosterPredictForMat`; a single row goes through
`LGBM_BoosterPredictForMatSingleRowFast` with a configuration made once per thread (its input
and output buffers and their pointers too), which costs a few microseconds for a raw score.
Calls on a few rows keep the GIL (the library loaded as a `ctypes.PyDLL`): they take
microseconds, and a thread that releases the GIL waits to get it back behind any busy Python
thread (up to the 5 ms switch interval: the score writer, the other request). Calls on many rows
release it, as `Booster.predict` does. Same C functions as `Booster.predict`
(tests/serving/test_scoring.py proves identical numbers); the booster is only read, never changed.
"""

import ctypes
import threading

import numpy as np
from lightgbm.basic import _LIB, _safe_call

RAW_SCORE, CONTRIB = 1, 3  # C_API_PREDICT_RAW_SCORE, C_API_PREDICT_CONTRIB
FLOAT64, ROW_MAJOR = 1, 1  # C_API_DTYPE_FLOAT64, C-contiguous
# Below this many rows, raw scores go row by row through the fast single-row path.
SINGLE_ROW_LIMIT = 8
# Up to this many rows, one thread and the GIL kept (above, the configured threads, GIL released).
SMALL_CALL_ROWS = 64
_HOLDING_GIL = ctypes.PyDLL(_LIB._name)  # the same loaded library: dlopen returns the same handle


class _FastRow:
    """A single-row predictor of one kind for one thread, with its own buffers."""

    def __init__(self, handle, kind: int, features: int):
        self.config = ctypes.c_void_p()
        _safe_call(_LIB.LGBM_BoosterPredictForMatSingleRowFastInit(
            handle, ctypes.c_int(kind), ctypes.c_int(0), ctypes.c_int(-1), ctypes.c_int(FLOAT64),
            ctypes.c_int32(features), ctypes.c_char_p(b"num_threads=1"), ctypes.byref(self.config)))
        self.row = np.empty(features, dtype=np.float64)
        self.out = np.empty(features + 1 if kind == CONTRIB else 1, dtype=np.float64)
        self.length = ctypes.c_int64(0)
        self._args = (self.config, ctypes.c_void_p(self.row.ctypes.data), ctypes.byref(self.length),
                      ctypes.c_void_p(self.out.ctypes.data))

    def __call__(self, values: np.ndarray) -> np.ndarray:
        self.row[:] = values
        _safe_call(_HOLDING_GIL.LGBM_BoosterPredictForMatSingleRowFast(*self._args))
        return self.out

    def __del__(self):
        if self.config:
            _LIB.LGBM_FastConfigFree(self.config)


class BoosterCalls:
    """Raw scores and TreeSHAP contributions (base value last) of float64 matrices."""

    def __init__(self, booster, threads: int):
        self.booster = booster  # keeps the C handle alive
        self.features = int(booster.num_feature())
        self._params = ctypes.c_char_p(f"num_threads={int(threads)}".encode())
        self._one_thread = ctypes.c_char_p(b"num_threads=1")
        self._local = threading.local()

    def _fast(self, kind: int) -> _FastRow:
        rows = getattr(self._local, "rows", None)
        if rows is None:
            rows = self._local.rows = {}
        if kind not in rows:
            rows[kind] = _FastRow(self.booster._handle, kind, self.features)
        return rows[kind]

    def _matrix(self, matrix: np.ndarray, kind: int) -> np.ndarray:
        matrix = np.ascontiguousarray(matrix, dtype=np.float64)
        rows, columns = matrix.shape
        if columns != self.features:
            raise ValueError(f"matrix of {columns} features, the model has {self.features}")
        width = columns + 1 if kind == CONTRIB else 1
        out = np.empty(rows * width, dtype=np.float64)
        length = ctypes.c_int64(0)
        # A few rows: one thread (waking OpenMP threads costs more), the GIL kept.
        small = rows <= SMALL_CALL_ROWS
        library, params = (_HOLDING_GIL, self._one_thread) if small else (_LIB, self._params)
        _safe_call(library.LGBM_BoosterPredictForMat(
            self.booster._handle, ctypes.c_void_p(matrix.ctypes.data), ctypes.c_int(FLOAT64),
            ctypes.c_int32(rows), ctypes.c_int32(columns), ctypes.c_int(ROW_MAJOR), ctypes.c_int(kind),
            ctypes.c_int(0), ctypes.c_int(-1), params, ctypes.byref(length),
            ctypes.c_void_p(out.ctypes.data)))
        if length.value != out.size:
            raise ValueError("LightGBM returned an unexpected number of values")
        return out.reshape(rows, width) if kind == CONTRIB else out

    def raw(self, matrix: np.ndarray) -> np.ndarray:
        rows = len(matrix)
        if rows <= SINGLE_ROW_LIMIT and matrix.shape[1] == self.features:
            fast = self._fast(RAW_SCORE)
            return np.array([fast(matrix[i])[0] for i in range(rows)], dtype=np.float64)
        return self._matrix(matrix, RAW_SCORE)

    def contributions(self, matrix: np.ndarray) -> np.ndarray:
        if len(matrix) == 1 and matrix.shape[1] == self.features:
            return self._fast(CONTRIB)(matrix[0]).copy().reshape(1, -1)
        return self._matrix(matrix, CONTRIB)
