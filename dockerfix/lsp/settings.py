"""The client's `dockerfix` settings: checked once when they arrive, laid over the configuration files' per file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..rewriter.config import ConfigError, Settings, discover, rule_option_values

MAX_DOCUMENT_SIZE = 64 * 1024  # bytes of UTF-8; the measurement behind it is docs/decisions.md, section 16

WHERE = "the client's dockerfix settings"


@dataclass(frozen=True)
class ClientSettings:
    """What the client's `dockerfix` settings override, checked once when they arrive."""

    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] | None = None
    unsafe_fixes: bool | None = None
    options: dict[str, Any] = field(default_factory=dict)
    max_document_size: int = MAX_DOCUMENT_SIZE

    @classmethod
    def parse(cls, section: Any, warnings: list[str]) -> ClientSettings:
        """A value of the wrong type is a warning and is ignored, never a reason to stop serving."""
        if not isinstance(section, dict):
            warnings.append(f"{WHERE} must be an object, not {section!r}; ignored")
            return cls()
        values: dict[str, Any] = {}
        for key, name in (("select", "select"), ("ignore", "ignore")):
            codes = section.get(key)
            if codes is None:
                continue
            if isinstance(codes, list) and all(isinstance(code, str) for code in codes):
                values[name] = tuple(codes)
            else:
                warnings.append(f"{WHERE}: `{key}` must be a list of rule codes or prefixes, not {codes!r}; ignored")
        unsafe = section.get("unsafeFixes")
        if isinstance(unsafe, bool):
            values["unsafe_fixes"] = unsafe
        elif unsafe is not None:
            warnings.append(f"{WHERE}: `unsafeFixes` must be true or false, not {unsafe!r}; ignored")
        size = section.get("maxDocumentSize")
        if isinstance(size, int) and not isinstance(size, bool) and size > 0:
            values["max_document_size"] = size
        elif size is not None:
            warnings.append(f"{WHERE}: `maxDocumentSize` must be a positive number of bytes, not {size!r}; ignored")
        try:
            values["options"] = rule_option_values(section, WHERE)
        except ConfigError as error:
            warnings.append(f"{error}; rule options ignored")
        return cls(**values)

    def settings_for(self, file: Path | None, warnings: list[str]) -> Settings:
        """The configuration files' settings for ``file`` (none for a document that is no file), with the client's
        on top."""
        settings = Settings()
        if file is not None:
            try:
                settings = discover(file)
            except ConfigError as error:
                warnings.append(str(error))
        return settings.override(self.select, self.ignore, self.unsafe_fixes, self.options)
