"""Exports of a run's picture in formats other systems read (CZML, KML, CoT, DIS, GeoJSON)."""

from trilink.export.runfolder import RunFolder, RunFolderError, read_run

__all__ = ["RunFolder", "RunFolderError", "read_run"]
