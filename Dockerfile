# gravity-led: one image for the three services (broker, gateway, led-driver) and their tools (link, selftest).
# docker-compose.yml builds it once and gives each service its own `command:`. By hand, from the repository root:
#   docker build -t gravity-led .
#   docker run --rm gravity-led help
#
# Build arguments (docker-compose.yml takes them from .env):
#   NODE_VERSION  major version of Node.js, the base image being node:<NODE_VERSION>-bookworm-slim. 24 (an LTS line,
#                 supported until April 2028) is published for linux/amd64 and linux/arm64: 64-bit Raspberry Pi OS.
#                 Node 24 has no linux/arm/v7 image, so 32-bit Raspberry Pi OS needs 22 (LTS until April 2027).
#                 See docs/docker.md.
#   WITH_PIGPIO   true: compile the pigpio C library (GPIO on a Pi 1-4) and pigpio's npm module against it.
#                 false: leave both out (an image for a Pi 5, which uses the kernel's PWM, or a quicker test build);
#                 LED_BACKEND=pigpio then stops with a line saying the module is missing.
#
# Laid out for cheap builds: few steps (Docker's classic builder commits every instruction, and under a vfs storage
# driver each commit copies the whole image so far), and what changes most often last: a change to the sources
# rebuilds only the TypeScript and the last copy; a change to the lock file, also the dependencies.
ARG NODE_VERSION=24

# --- pigpio: the C library from its release source, verified by checksum, and the native toolchain for pigpio's npm
#     module (the deps stage starts from here). Debian's archive keeps upstream's V78 tarball unchanged as
#     pigpio_1.78.orig.tar.gz (of Debian's pigpio 1.78-1 source package, which builds only the client libraries
#     pigpio-tools and libpigpiod-if2-1, not libpigpio itself), reachable wherever apt-get is.
#     V78 supports every Pi that pigpio supports: its gpioHardwareRevision() decodes the BCM2835 (Pi 1, Zero), BCM2836
#     (Pi 2), BCM2837 (Pi 3, Zero 2 W) and BCM2711 (Pi 4, Pi 400, CM4), and reads the revision from
#     /proc/device-tree on a 64-bit OS; the pigpio npm module asks for V41 or newer, V69 or newer on a Pi 4. The Pi 5
#     (BCM2712) is supported by no pigpio release. Installed: the library, its header, and the daemon, only because
#     the npm module's binding.gyp compiles the binding only where `pigpiod` is on the PATH; it is never run. ---
FROM node:${NODE_VERSION}-bookworm-slim AS pigpio
ARG WITH_PIGPIO=true \
    PIGPIO_SOURCE=http://deb.debian.org/debian/pool/main/p/pigpio/pigpio_1.78.orig.tar.gz \
    PIGPIO_SHA256=ef4a4dc7ca8ca2f97fbdb9fd75586f61be7222d0f6c14e58af6c9192ad42f682
RUN case "$WITH_PIGPIO" in \
      true) ;; \
      false) exit 0 ;; \
      *) echo "WITH_PIGPIO=$WITH_PIGPIO: expected true or false" >&2; exit 1 ;; \
    esac \
 && apt-get update \
 && apt-get install -y --no-install-recommends curl g++ gcc libc6-dev make python3 \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir /tmp/pigpio \
 && cd /tmp/pigpio \
 && curl -fsSL -o pigpio.tar.gz "$PIGPIO_SOURCE" \
 && echo "$PIGPIO_SHA256  pigpio.tar.gz" | sha256sum -c - \
 && tar -xzf pigpio.tar.gz --strip-components=1 \
 && grep -q '^#define PIGPIO_VERSION 78$' pigpio.h \
 && make -j"$(nproc)" libpigpio.so pigpiod \
 && install -m 0755 libpigpio.so.1 /usr/local/lib/ \
 && ln -s libpigpio.so.1 /usr/local/lib/libpigpio.so \
 && install -m 0644 pigpio.h /usr/local/include/ \
 && install -m 0755 pigpiod /usr/local/bin/ \
 && cd / \
 && rm -rf /tmp/pigpio

# --- manifests: the package files alone, so that the install steps below are rebuilt only when they change ---
FROM scratch AS manifests
COPY package.json package-lock.json /m/
COPY shared/package.json /m/shared/
COPY broker/package.json /m/broker/
COPY gateway/package.json /m/gateway/
COPY led-driver/package.json /m/led-driver/
COPY client/package.json /m/client/

# --- sources: what .dockerignore lets in (sources, manifests, the entry point), nothing else ---
FROM scratch AS sources
COPY . /src/

# --- deps: the runtime dependencies only (no dev dependencies), from the lock file; with pigpio, its npm module
#     compiled against the library above. No install scripts at install time (the root's "prepare" compiles
#     everything); pigpio's runs on its own, node-gyp taking Node's headers from the base image (npm_config_nodedir)
#     so that nothing is downloaded, and linking the module with a run path to the library (so the image needs no
#     loader cache). The checks fail the build if pigpio came out as the empty placeholder its binding.gyp builds
#     where the C library is missing, or without that run path. Leaves /out: node_modules and the library. ---
FROM pigpio AS deps
ARG WITH_PIGPIO=true
COPY --from=manifests /m/ /app/
RUN cd /app \
 && if [ "$WITH_PIGPIO" = true ]; then \
      npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
      && npm_config_nodedir=/usr/local LDFLAGS=-Wl,-rpath,/usr/local/lib npm rebuild pigpio \
      && grep -q gpioInitialise node_modules/pigpio/build/Release/pigpio.node \
      && readelf -d node_modules/pigpio/build/Release/pigpio.node | grep -q 'R.*PATH.*/usr/local/lib' \
      && mkdir -p /out/usr/local/lib \
      && cp /usr/local/lib/libpigpio.so.1 /out/usr/local/lib/; \
    else \
      npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund; \
    fi \
 && mkdir -p /out/app \
 && mv node_modules /out/app/ \
 && npm cache clean --force

# --- build: the compiler and the sources, compiled to JavaScript (optional packages, pigpio and biome's binaries,
#     are not needed for that). Leaves /out/app: each service's package.json and dist, the phone page, the entry
#     point. ---
FROM node:${NODE_VERSION}-bookworm-slim AS build
COPY --from=manifests /m/ /app/
RUN cd /app && npm ci --omit=optional --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=sources /src/ /app/
RUN cd /app \
 && npx tsc -b broker gateway led-driver \
 && mkdir -p /out/app/docker \
 && cp package.json /out/app/ \
 && for service in shared broker gateway led-driver; do \
      mkdir -p "/out/app/$service" && cp -R "$service/package.json" "$service/dist" "/out/app/$service/"; \
    done \
 && cp -R gateway/public /out/app/gateway/ \
 && cp docker/entrypoint.sh /out/app/docker/

# --- the image: Node, the pigpio library, the runtime dependencies and the compiled services. The settings come
#     first and the files last, so that a change to the sources redoes only the last step. Ports it serves (published
#     by docker-compose.yml): 1883 and 9001 (broker), 5678 and 5679 (gateway), 9464 (led-driver's metrics). ---
FROM node:${NODE_VERSION}-bookworm-slim
# The shared volume starts out owned by "node", so that the unprivileged services can write the generated secrets.
RUN mkdir -p /data && chown node:node /data
ENV NODE_ENV=production DATA_DIR=/data
# How the image was built, for the led-driver's error line when LED_BACKEND=pigpio meets an image without pigpio.
ARG WITH_PIGPIO=true
ENV IMAGE_WITH_PIGPIO=${WITH_PIGPIO}
ENTRYPOINT ["/app/docker/entrypoint.sh"]
# broker and gateway need no privilege; docker-compose.yml runs the led-driver as root for pigpio (/dev/mem, DMA).
# (The files below are root's all the same: COPY does not follow USER.)
USER node
COPY --from=deps /out/ /
COPY --from=build /out/ /
