import cProfile, pstats, sys
from benchmarks.bench_replay import make_trace
from tracekit.replay import simulate
jobs, cl = make_trace(int(sys.argv[1]), days=float(sys.argv[3]))
print(cl.total_gpus)
cProfile.run(f'simulate(jobs,cl,"{sys.argv[2]}")', '/work/main/.prof.out')
pstats.Stats('/work/main/.prof.out').sort_stats('tottime').print_stats(14)
