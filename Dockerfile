# syntax=docker/dockerfile:1
# Build stage: compile TypeScript with the dev dependencies.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY config ./config
COPY src ./src
RUN npm run build

# Runtime stage: production dependencies only, non-root.
FROM node:22-bookworm-slim AS runtime
# MALLOC_TRIM_THRESHOLD_ and the ENTRYPOINT's flag: see the first lines of src/main.ts.
ENV NODE_ENV=production \
    MALLOC_TRIM_THRESHOLD_=134217728
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY config/default.json ./config/default.json
# Inside a container the proxy must listen on all interfaces and accept the bridge's peer address;
# publish the port on the host's loopback only: docker run -p 127.0.0.1:8066:8066 …
ENV C66_PROXY_LISTEN=0.0.0.0:8066 \
    C66_PROXY_UNSAFE_LISTEN_ANY=true
USER node
EXPOSE 8066
HEALTHCHECK --interval=30s --timeout=3s --start-period=5s --retries=3 \
  CMD ["node", "dist/main.js", "healthcheck"]
ENTRYPOINT ["node", "--initial-old-space-size=64", "dist/main.js"]
CMD ["serve"]
