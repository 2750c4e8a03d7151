package cityworks_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/cityworks"
	"github.com/ticketsync/ticketsync/vendorapi/cityworks/sim"
)

func TestProblemsAndQuestions(t *testing.T) {
	e := newEnv(t, sim.Options{})
	ctx := context.Background()
	yes := true
	public, err := e.client.Problems(ctx, cityworks.ProblemFilter{ForPublicOnly: &yes, OnlyActiveTemplates: &yes})
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	var sids []int
	for _, p := range public {
		codes = append(codes, p.ProblemCode)
		sids = append(sids, p.ProblemSid)
	}
	if strings.Join(codes, ",") != "POTHOLE,STLIGHT,GRAFFITI,MISSEDTRASH" {
		t.Fatalf("public active problems = %v", codes)
	}
	all, err := e.client.Problems(ctx, cityworks.ProblemFilter{})
	if err != nil || len(all) != 6 {
		t.Fatalf("all problems = %d, %v", len(all), err)
	}

	qas, err := e.client.ProblemQAs(ctx, sids...)
	if err != nil || len(qas) != 4 {
		t.Fatalf("ProblemQAs = %d, %v", len(qas), err)
	}
	var contact []string
	for _, qa := range qas {
		for _, q := range qa.Questions {
			if low := strings.ToLower(q.Question); strings.Contains(low, "email") || strings.Contains(low, "phone") {
				contact = append(contact, q.Question)
				if a := qa.AnswersTo(q.QuestionId); len(a) != 1 || a[0].IsFixedChoice() {
					t.Errorf("contact question %q must take free text: %+v", q.Question, a)
				}
			}
		}
	}
	if len(contact) < 3 {
		t.Fatalf("seeded contact questions = %v", contact)
	}
	pothole := qas[sids[0]]
	if !pothole.BranchingModel || len(pothole.Questions) != 3 {
		t.Fatalf("pothole QA = %+v", pothole)
	}
	size := pothole.AnswersTo(pothole.Questions[0].QuestionId)
	if len(size) != 2 || !size[1].IsFixedChoice() || size[1].NextQuestionId != pothole.Questions[1].QuestionId ||
		size[0].NextQuestionId != pothole.Questions[2].QuestionId || string(size[1].Priority) != "1" {
		t.Fatalf("branching answers = %+v", size)
	}
	if _, err := e.client.ProblemQA(ctx, 4242); !cityworks.IsNotFound(err) {
		t.Fatalf("QA of unknown problem: %v", err)
	}
	statuses, err := e.client.Statuses(ctx)
	if err != nil || len(statuses) != 5 || statuses[0].Code != sim.SRInitiate || !statuses[3].IsActive {
		t.Fatalf("Statuses = %+v, %v", statuses, err)
	}
}

// Staff editing templates shows up in an incremental sync (MinimumDateModified).
func TestIncrementalTemplateSync(t *testing.T) {
	e := newEnv(t, sim.Options{})
	ctx := context.Background()
	all, err := e.client.RequestTemplates(ctx, cityworks.RequestTemplateFilter{})
	if err != nil || len(all) != 5 { // the retired one is inactive
		t.Fatalf("templates = %d, %v", len(all), err)
	}
	yes := true
	withInactive, err := e.client.RequestTemplates(ctx, cityworks.RequestTemplateFilter{IncludeInactive: &yes})
	if err != nil || len(withInactive) != 6 {
		t.Fatalf("with inactive = %d, %v", len(withInactive), err)
	}
	public := 0
	for _, tpl := range withInactive {
		if tpl.IsPublic() {
			public++
		}
		if tpl.DateModified.IsZero() {
			t.Errorf("%s has no DateModified", tpl.ProblemCode)
		}
	}
	if public != 4 {
		t.Fatalf("public templates = %d", public)
	}

	e.clock.Advance(time.Hour)
	since := e.clock.Now()
	graffiti := e.problem(t, "GRAFFITI")
	if _, err := e.sim.AddQuestion(graffiti.ProblemSid, sim.QuestionInput{Question: "Your email for updates?"}); err != nil {
		t.Fatal(err)
	}
	added, err := e.sim.PutProblem(sim.Problem{ProblemCode: "TREE", Description: "Tree Down", ForPublicSite: true})
	if err != nil {
		t.Fatal(err)
	}
	changed, err := e.client.RequestTemplates(ctx, cityworks.RequestTemplateFilter{MinimumDateModified: cityworks.NewTime(since)})
	if err != nil || len(changed) != 2 || changed[0].ProblemSid != graffiti.ProblemSid || changed[1].ProblemSid != added.ProblemSid {
		t.Fatalf("changed since = %+v, %v", changed, err)
	}
	qa, err := e.client.ProblemQA(ctx, graffiti.ProblemSid)
	if err != nil || len(qa.Questions) != 3 || qa.Questions[2].Question != "Your email for updates?" {
		t.Fatalf("QA after staff edit = %+v, %v", qa, err)
	}
}

func TestWorkOrderTemplates(t *testing.T) {
	e := newEnv(t, sim.Options{})
	ctx := context.Background()
	street, err := e.client.WorkOrderTemplates(ctx, cityworks.WorkOrderTemplateFilter{EntityType: "STREET"})
	if err != nil || len(street) != 2 || street[0].WOTemplateId != "1001" || street[1].Description != "Graffiti Abatement" {
		t.Fatalf("STREET templates = %+v, %v", street, err)
	}
	if _, err := e.sim.PutWOTemplate(sim.WOTemplate{Description: "Tree Removal", ApplyToEntity: "TREE", WOCategory: "FORESTRY"}); err != nil {
		t.Fatal(err)
	}
	trees, err := e.client.WorkOrderTemplates(ctx, cityworks.WorkOrderTemplateFilter{EntityTypes: []string{"TREE", "SIGN"}})
	if err != nil || len(trees) != 2 || trees[1].ApplyToEntity != "TREE" || trees[1].WOTemplateId != "1005" {
		t.Fatalf("TREE/SIGN templates = %+v, %v", trees, err)
	}
}
