"""zizhu (资助): the student-aid integrity platform."""
