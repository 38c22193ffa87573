"""Domain errors of datanets; views translate them to HTTP at the edge."""

from __future__ import annotations


class DatanetNotFound(Exception):
    """No datanet with this slug, or one the user may not know about."""


class DatanetAccessDenied(Exception):
    """The datanet is permissioned and the user is neither its owner nor approved.

    Carries the datanet when there is one to show: its existence is public (it is listed), so the page
    says whose it is and offers to ask for access.
    """

    def __init__(self, message: str, *, datanet: object | None = None) -> None:
        super().__init__(message)
        self.datanet = datanet


class NotDatanetOwner(Exception):
    """Only the owner may review rows, publish versions and decide access requests."""


class UploadRefused(Exception):
    """An upload over a limit (file size, daily quota) or in a state that cannot take the action."""


class NotDatanetReviewer(NotDatanetOwner):
    """Only the owner and the reviewers they listed may approve and reject pending rows."""


class DatanetInvalid(Exception):
    """A datanet's details or settings that cannot be saved; the message says what to change."""


class DatanetArchived(UploadRefused):
    """An archived datanet takes no new rows; its versions stay usable by the jobs that use them."""


class VersionEmpty(UploadRefused):
    """A version with no approved rows: nothing to train on, and the chain's registry records none."""


class DatanetItemNotFound(Exception):
    """A version, upload or access request of a datanet that does not exist or that the person may not see
    (an upload is its uploader's and the owner's; access requests are the owner's): the same to them."""
