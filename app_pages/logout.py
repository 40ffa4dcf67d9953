"""Log the analyst out, here and in the browser's saved sign-in."""

from app_pages._shared import sign_out

sign_out()
