"""Load pickled data files (DIP-IMU and TotalCapture ``.pkl``, SMPL model ``.pkl``, object members of
``.npz``) without running code from them.

A pickle can name any importable callable, and ``pickle.load`` calls it: a crafted data file runs code. The
unpickler here resolves only the names that numpy arrays, scalars, dtypes and scipy's sparse matrices need,
plus plain containers (dicts, lists, tuples, sets are opcodes, not names); anything else is refused with a
:class:`ValueError` naming the file and the refused name.
"""

import pickle
import zipfile
from pathlib import Path

import numpy as np

_ALLOWED = {
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("_codecs", "encode"),  # how protocol 2 writes bytes (numpy buffers)
    ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "complex"),
    # Plain object construction, for the sparse matrices below only: it instantiates a class that must
    # itself be allowed here.
    ("copyreg", "_reconstructor"), ("builtins", "object"),
}
# Protocol 0-2 pickles (Python 2's DIP files) name the builtins by their Python 2 modules.
_ALLOWED |= {({"builtins": "__builtin__", "copyreg": "copy_reg"}.get(m, m), n) for m, n in _ALLOWED}
# SMPL's J_regressor is a scipy sparse matrix (its __dict__ holds plain arrays).
_SPARSE = {"csc_matrix", "csr_matrix", "coo_matrix"}


class _Restricted(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _ALLOWED or (module.startswith("scipy.sparse") and name in _SPARSE):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: data files may hold numpy arrays "
                                     "and plain containers only")


def loads(fileobj, source) -> object:
    """Unpickle ``fileobj`` (Python 2 pickles too: latin1 decodes their byte strings and numpy buffers)."""
    try:
        return _Restricted(fileobj, encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError,
            IndexError, KeyError) as exc:
        raise ValueError(f"{source}: not a plain-data pickle ({exc})") from None


def load(path) -> object:
    """A pickle file's content, numpy arrays and plain containers only (module doc)."""
    with open(path, "rb") as f:
        return loads(f, path)


def load_npz(path) -> dict:
    """All members of an ``.npz`` as arrays: plain members with ``allow_pickle=False``, object members (e.g. a
    sparse matrix saved as a 0-d object array) through the restricted unpickler."""
    out = {}
    try:
        with zipfile.ZipFile(path) as zf:
            for member in zf.namelist():
                key = member.removesuffix(".npy")
                with zf.open(member) as f:
                    version = np.lib.format.read_magic(f)
                    if version == (1, 0):
                        _, _, dtype = np.lib.format.read_array_header_1_0(f)
                    elif version == (2, 0):
                        _, _, dtype = np.lib.format.read_array_header_2_0(f)
                    else:
                        raise ValueError(f"member {key}: unsupported .npy version {version}")
                    if dtype.hasobject:  # numpy writes object arrays as a pickle after the header
                        out[key] = loads(f, f"{path}:{key}")
                        continue
                with zf.open(member) as f:
                    out[key] = np.lib.format.read_array(f, allow_pickle=False)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ValueError(f"{path}: not a readable .npz ({exc})") from None
    if not out:
        raise ValueError(f"{Path(path)}: empty .npz")
    return out
