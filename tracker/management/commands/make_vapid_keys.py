from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.core.management.base import BaseCommand
from py_vapid.utils import b64urlencode as urlsafe


class Command(BaseCommand):
    help = (
        "Print a new VAPID key pair for Web Push reminders, as the environment variables "
        "WEBPUSH_VAPID_PRIVATE_KEY and WEBPUSH_VAPID_PUBLIC_KEY. Keep the private key "
        "secret; changing the keys later stops the phones' existing subscriptions."
    )

    def handle(self, *args, **options) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        private = key.private_numbers().private_value.to_bytes(32, "big")
        public = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        self.stdout.write(f"WEBPUSH_VAPID_PRIVATE_KEY={urlsafe(private)}")
        self.stdout.write(f"WEBPUSH_VAPID_PUBLIC_KEY={urlsafe(public)}")
        self.stdout.write("WEBPUSH_VAPID_SUBJECT=mailto:you@your-clinic.example")
        self.stdout.write("VAPID keys made: set these three in the environment.")
