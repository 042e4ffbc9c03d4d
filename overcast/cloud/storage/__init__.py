"""The storage wing of the service layer: EBS volumes and their attachments."""
