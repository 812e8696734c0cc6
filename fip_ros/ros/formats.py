"""Names of the recording formats (``fip_ros.ros.recordings``) and bag storages (``fip_ros.ros.bag_tools``),
importable without torch or rosbags (the tools' option choices)."""

FORMATS = ("clip", "dip", "totalcapture")
STORAGE_NAMES = ("mcap", "sqlite3")
