import { supervisorConformance } from './supervisor.suite.js';
import { localTopology, singleNodeTopology } from './topology.js';

supervisorConformance(localTopology);
supervisorConformance(singleNodeTopology);
