# Switchboard image. Build: docker build -t switchboard .
# NODE_IMAGE lets a build pick another Node 24 base (for example a local mirror).
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --no-update-notifier
COPY tsconfig.json ./
COPY src ./src
COPY protocols ./protocols
RUN npm run build && npm prune --omit=dev

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    SWITCHBOARD_HOST=0.0.0.0 \
    SWITCHBOARD_PORT=8080 \
    SWITCHBOARD_DATA_DIR=/data
WORKDIR /app
# The code stays owned by root: the node user can read it but not change it.
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The embedded store (retained messages, persistent sessions) lives in /data. It is made before VOLUME and owned
# by node, so that a new named volume starts out writable by the router; a bind-mounted host directory must be
# writable by uid 1000.
RUN mkdir /data && chown node:node /data
VOLUME /data
USER node
# WebSocket and HTTP(S), MQTT over TCP, MQTT over TLS (when tls.cert and tls.key are set).
EXPOSE 8080 1883 8883
# GET /healthz over http, and over https when the port speaks TLS (tls.cert set). The https check skips certificate
# verification: it asks this very process on loopback, and the certificate names the public host, not 127.0.0.1.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["node", "-e", "const get=(m,o)=>new Promise(ok=>m.get({host:'127.0.0.1',port:process.env.SWITCHBOARD_PORT||8080,path:'/healthz',timeout:2000,...o},r=>{r.resume();ok(r.statusCode===200)}).on('timeout',function(){this.destroy()}).on('error',()=>ok(false)));get(require('http')).then(up=>up||get(require('https'),{rejectUnauthorized:false})).then(up=>process.exit(up?0:1))"]
CMD ["node", "dist/src/main.js"]
