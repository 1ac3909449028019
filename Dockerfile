# syntax=docker/dockerfile:1
# streamscreen image: one binary, every deployable (worker, bridge, enforcer, console, ...).
# Build: docker build -t streamscreen .
# Run:   docker run --rm -e NATS_URL=nats://nats:4222 -e STREAMSCREEN_HASH_LISTS=/lists/confirmed.txt \
#          -v /srv/lists:/lists:ro -p 9464:9464 streamscreen            (the worker)
#        docker run ... -v /srv/streamscreen.json:/app/config/streamscreen.json:ro -p 8089:8089 streamscreen bridge
#        docker run ... streamscreen enforcer  |  ... -p 8480:8480 streamscreen console

FROM node:20-bookworm-slim AS build
WORKDIR /app
# onnxruntime-node would otherwise try to download CUDA binaries at install time.
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json .npmrc ./
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY tools ./tools
COPY config ./config
COPY models ./models
# `prepare` compiles TypeScript, bundles the console's front end and converts the npm-shipped
# model weights to models/*.onnx.
RUN npm ci && npm prune --omit=dev

FROM node:20-bookworm-slim
# Debian's ffmpeg (with SRT); the bundled 2018 static build stays only as a fallback.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/models ./models
COPY --from=build /app/config ./config
USER node
# metrics/probes (every deployable), the bridge's hook listener, the reviewer console.
EXPOSE 9464 8089 8480
# tini forwards SIGTERM so the worker's two-stage shutdown hands its streams to other workers.
ENTRYPOINT ["/usr/bin/tini", "--", "node", "dist/src/cli.js"]
CMD ["worker"]
