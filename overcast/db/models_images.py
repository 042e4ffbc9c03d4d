"""Image tables beyond `images` itself: who else may launch an image."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from overcast.db.models import Base


class ImageLaunchPermission(Base):
    """An account (another project) that may launch an image it does not own.

    Public images (launch permission group `all`) are marked by `images.is_public` instead.
    """

    __tablename__ = "image_launch_permissions"
    image_id: Mapped[str] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"),
                                          primary_key=True)
    account_id: Mapped[str] = mapped_column(String(12), primary_key=True, index=True)
