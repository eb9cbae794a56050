# The monitor's image: one image for every role (worker, notifier, web view, tools); the role is
# the command, e.g. `docker run IMAGE worker`. Settings come from MONITOR_* environment variables.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The processes run as this user, never as root.
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin monitor

WORKDIR /src

# Dependencies first, in their own layer: it is rebuilt only when pyproject.toml or
# requirements.lock change, not on every source edit. Only the runtime dependencies are installed,
# at the versions pinned in requirements.lock (which also pins the test tools).
COPY pyproject.toml requirements.lock ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > runtime.txt \
 && pip install -c requirements.lock -r runtime.txt

# Then the source, installed without touching the dependency layer.
COPY README.md ./
COPY monitor ./monitor
COPY agents ./agents
COPY schemas ./schemas
RUN pip install --no-deps . \
 && rm -rf /src

# faust keeps its small data folder in the working directory: the user's own home.
USER monitor
WORKDIR /home/monitor

# Inside a container the web view must listen on every interface to be reachable.
ENV MONITOR_WEB_HOST=0.0.0.0 \
    MONITOR_LOG_FORMAT=json
EXPOSE 8080

ENTRYPOINT ["monitor"]
CMD ["worker"]
