from django.core.management.base import BaseCommand

from workers.pipeline import jobs_sweep
from workers.tasks import schedule


class Command(BaseCommand):
    help = "One pass of the job sweeper: re-enqueue jobs whose worker lease ran out."

    def handle(self, *args, **options):
        steps = jobs_sweep()
        for step in steps:
            schedule(step)
        self.stdout.write(f"Swept {len(steps)} job{'s' if len(steps) != 1 else ''}.")
