// PostGraphile 5 for the bench's peer (bench/peer.py copies this file next to the
// installed packages, outside the repository, and starts `postgraphile -C` with it).
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makePgService } from "postgraphile/adaptors/pg";

export default {
  extends: [PostGraphileAmberPreset],
  // Amber offers `condition` and `orderBy` only on indexed columns; the dashboard filters by
  // status and payment method, as the service's TransactionFilter does, so offer them all.
  disablePlugins: ["PgIndexBehaviorsPlugin"],
  pgServices: [
    makePgService({
      connectionString: process.env.PEER_DATABASE_URL,
      schemas: ["public"],
      // As many connections as the service's pool and the ceiling's (bench/servers.py).
      poolConfig: { max: Number(process.env.PEER_POOL_SIZE ?? 20) },
    }),
  ],
  grafserv: { graphiql: false, watch: false },
  grafast: { explain: false },
};
