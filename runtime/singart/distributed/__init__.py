"""Running a plan as several processes: coordination, params and bridges over gRPC."""
