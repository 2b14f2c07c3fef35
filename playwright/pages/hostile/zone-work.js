// Zone.js as Angular runs it: the page's calls (net.js's) made inside an app zone that logs
// every task it schedules and when the zone has tasks pending (NgZone's stability comes from
// that), and which zone each callback runs in. Promise chains, not async functions: native
// async/await does not carry zones (Angular compiles it away for that reason).
window.scenario = () =>
  new Promise((done) => {
    const tasks = [];
    const pending = [];
    const zones = [];
    const log = [];
    const app = Zone.current.fork({
      name: 'app',
      onScheduleTask(delegate, current, target, task) {
        tasks.push(task.type + ' ' + task.source);
        return delegate.scheduleTask(target, task);
      },
      onHasTask(delegate, current, target, state) {
        if (state.change !== 'eventTask') pending.push(state.change + ':' + [state.macroTask, state.microTask].map(Number).join(''));
        delegate.hasTask(target, state);
      },
    });
    app.run(() => {
      let chain = Promise.resolve();
      for (const [label, step] of netSteps()) {
        chain = chain.then(() => Promise.resolve(step()).then((r) => (log.push([label, r]), zones.push(label + ' ' + Zone.current.name))));
      }
      chain.then(() =>
        setTimeout(() => {
          zones.push('setTimeout ' + Zone.current.name);
          Zone.root.run(() =>
            setTimeout(() =>
              done({
                log,
                zones,
                macroTasks: tasks.filter((t) => t.startsWith('macroTask')),
                pending,
                eventTasks: tasks.filter((t) => t.startsWith('eventTask')).length,
                microTasks: tasks.filter((t) => t.startsWith('microTask')).length,
                promise: Promise.name,
              }),
            100),
          );
        }),
      );
    });
  });
