"""The Densify subscriptions face (API.md section 2): users and tokens, subscriptions, result records, the
on-demand results, the status, and the scheduled push through the shared webhook engine."""
