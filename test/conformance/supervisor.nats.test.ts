import { natsTopology } from './nats-topology.js';
import { supervisorConformance } from './supervisor.suite.js';

supervisorConformance(natsTopology);
