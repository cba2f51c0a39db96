"""What an unauthenticated caller may read in a message: no resource names, ARNs, accounts or paths.

Every open route's answer goes through one Redactor: the model functions' error bodies
(app.py), and the control API's open views and their errors (control/public.py). It replaces
the names of this deployment's resources (bucket, table, functions), any ARN, any S3 bucket in
an s3:// URI and any 12-digit account id. A library's own message quoted back (onnxruntime's,
Pillow's) loses its file paths too (`without_paths`): our messages name routes, which stay.
The logs keep the full text: operators read them with IAM.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

_ARN = re.compile(r"arn:aws[a-z-]*:[^\s,;'\")]+")
_S3_URI = re.compile(r"s3://[^/\s'\"]+")
_ACCOUNT = re.compile(r"(?<!\d)\d{12}(?!\d)")
# A path of two or more segments (/var/task/x.py, /onnxruntime_src/core/gather.cc:114): its
# folders are hidden, its last segment (the file's name) kept. A single segment (/ready) is a
# route, not a file.
_PATH = re.compile(r"(?<![\w:/])(?:/[\w.@+-]+)+(?=/[\w.@+-]+)")


class Redactor:
    """Replaces this deployment's resource names, and any ARN, S3 bucket and account id."""

    def __init__(self, bucket: str = "", table: str = "", functions: Iterable[str] = ()):
        named = [("<bucket>", bucket), ("<table>", table), *(("<function>", f) for f in functions)]
        # Longest first, so a name that contains another is replaced whole.
        self.names = sorted(((p, n) for p, n in named if n), key=lambda pair: -len(pair[1]))

    def __call__(self, text: str, also: Iterable[str] = ()) -> str:
        """``also``: more bucket names to hide (an upload's source bucket)."""
        text = _ARN.sub("<arn>", text)
        text = _S3_URI.sub("s3://<bucket>", text)
        for placeholder, name in [*self.names, *(("<bucket>", n) for n in also if n)]:
            text = text.replace(name, placeholder)
        return _ACCOUNT.sub("<account>", text)


def without_paths(text: str) -> str:
    """``text`` with every file path's folders replaced: /tmp/a/b/model.onnx -> <path>/model.onnx."""
    return _PATH.sub("<path>", text)
